"""Engine benchmarks for payterm: they print figures beside their targets and never assert."""
