"""The OLED display: screens drawn as pictures (``render``) and pushed to a luma.oled panel."""
