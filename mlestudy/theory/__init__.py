"""Theory the simulation is compared with: exact finite-sample results where they
exist, expected information and bounds, and first-order approximations (always
labelled as such, never judged as exact)."""
