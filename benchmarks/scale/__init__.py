"""``homevitals bench scale``: a municipality-sized data set and the reads that must stay fast.

Seeds (resumably, with COPY) a throwaway TimescaleDB with 10,000 citizens' year of home
blood pressure, then times every dashboard panel query, the API's main reads over HTTP and
ingest's write path on top of it. See docs/benchmarks.md, "Scale".
"""
