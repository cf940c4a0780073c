"""Helpers for tests that run real services: PostgreSQL, an S3 server
(SeaweedFS), MLflow, and Docker containers. Nothing here is a mock.

Tests that need a service which this machine lacks are skipped with the
reason; CI sets ``REPRO_GEN_REQUIRE_DOCKER=1`` and
``REPRO_GEN_REQUIRE_SERVICES=1`` so that such a skip becomes a failure.
"""
