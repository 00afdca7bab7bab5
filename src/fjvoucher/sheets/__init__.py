"""Files a centre keeps: atomic writes, workbooks written safely, the blank roster, the register."""
