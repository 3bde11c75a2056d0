"""Pure views: what the screen shows and what a slip says, as plain data."""
