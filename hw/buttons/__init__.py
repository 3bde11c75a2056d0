"""The Retry, Cancel and Force buttons on GPIO (gpiozero), and the LED and buzzer beside them."""
