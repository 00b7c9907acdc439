"""Dataset specs, sources and the data contracts that guard every training and monitoring run.

Pure core: plain Python and pandas, with Great Expectations doing the checking.
"""
