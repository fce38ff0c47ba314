"""Local, stateful emulators of the Salesforce REST API and the Xero Accounting API.

Production code never imports this package: the emulators differ from the real services only in the
resource configuration (URLs, credentials, CA bundle) handed to the production clients.
"""
