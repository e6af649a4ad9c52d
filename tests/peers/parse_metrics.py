"""Parses Prometheus text exposition from stdin with the reference parser
(prometheus_client) and prints the metric families found, one per line."""

import sys

from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    print(family.name, family.type, len(family.samples))
