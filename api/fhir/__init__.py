"""api.fhir"""
