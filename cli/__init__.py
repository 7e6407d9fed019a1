"""The ``canopy`` command: the top of the house, the only package that may import
every other one (agent, bridge, provisioning, the state simulators).

``cli.main`` builds the parser from one module per subcommand in ``cli.commands``;
``cli.broker`` runs Mosquitto (or the embedded fallback broker) for the demo and
the tests; ``cli.demo_farm`` seeds the demo's state simulator with the demo farm.
"""
