"""`smallfavor simulate`: simulated readers driving a running service's real HTTP endpoints.

spec.py and plan.py are pure (what was asked for, what each reader does, randomness passed
in); http_client.py, runner.py and command.py talk to the service and the user.
"""
