@echo off
rem Double-click: installs fjvoucher for this user and puts the workbench icon on the desktop.
cd /d "%~dp0.."
py -m pip install --user .
if errorlevel 1 goto failed
py -m fjvoucher desk --shortcut
if errorlevel 1 goto failed
echo.
echo OK: double-click the desktop icon to start.
pause
exit /b 0
:failed
echo.
echo Install failed: see the lines above. Is Python installed with "Add python.exe to PATH"?
pause
exit /b 1
