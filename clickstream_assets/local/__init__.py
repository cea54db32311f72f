"""Embedded local services: the Kafka broker process, its JVM artifacts, the dump mirror."""
