"""porelab: simulate CT scans of parts with pores, train pore detectors on Ray, serve them."""

__version__ = "0.1.0"
