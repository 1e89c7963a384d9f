"""osc-evacuate: evacuate servers off a failed compute host, with proof."""
