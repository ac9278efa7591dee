"""Layer 2: neutral geometry IR (pads, graphics, boards) built from specs with numpy and shapely."""
