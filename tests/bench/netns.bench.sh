#!/bin/bash
# netns.bench.sh - `make bench` piece: environment networking (tests/bench/netns.sh).
exec bash "$(dirname "$0")/netns.sh"
