"""api.routers"""
