"""`smallfavor simulate`: simulated readers driving a running service's real HTTP endpoints.

spec.py and plan.py are pure (what was asked for, what each reader does, randomness passed
in); http_client.py and runner.py talk to the service, and service/cli/simulate.py to the
user.
"""
