"""The substrate router: routing grid with exact clearances, wavefront path search, net routing."""
