"""The owner's TUF repository of client installers (python-tuf Metadata API).

``layout`` names the files and checks names, ``keys`` keeps the signing keys
(root offline, the others online and encrypted with the installation's KEK),
``repository`` writes and refreshes the signed metadata.
"""
