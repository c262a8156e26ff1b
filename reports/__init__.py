"""Records of conformance checks, and the reports and comparisons made from them."""
