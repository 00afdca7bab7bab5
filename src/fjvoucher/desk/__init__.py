"""The clerk's workbench: fjvoucher in a browser window on this computer (`fjvoucher desk`, `fjvoucher-desk`)."""
