"""Nova evacuation logic, free of cliff and argparse.

Commands hand typed requests in and get result dataclasses back; everything
that knows Nova (microversions, request bodies, migration states) is here.
"""
