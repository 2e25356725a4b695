"""Partner services: an operator's connections to providers, the memberships behind partner-service
products (sign-up, plan change, end) and the monthly settlement with each provider."""
