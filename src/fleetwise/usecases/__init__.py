"""What a user does, one function each, between the plan layer and the faces.

The CLI, the dashboard and the reports call these and only render what they return:
``profile_for`` (the fleet profile in force), ``diagnose_*`` (analyse an input and store
its findings, superseding an earlier analysis of the same input), ``ledger_for`` and
``claims_for_store`` (the fleet ledger and every finding's bounded claim),
``record_decision`` (the alignment log).
"""
