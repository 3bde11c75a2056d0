"""The ESC/POS slip printer (python-escpos): printing, status answers, reading bytes back."""
