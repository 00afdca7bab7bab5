"""fjvoucher: 福建省职业技能鉴定成绩合格凭证, validated and mail-merged."""

__version__ = "0.1.0"
