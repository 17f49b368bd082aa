"""api.reports"""
