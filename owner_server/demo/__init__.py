"""Demo data for the owner server: realistic, seeded, synthetic Polish contact lists.

Nothing here touches real people: every name, address and phone number is generated
(names, streets and cities from Faker's ``pl_PL`` locale) so the product can be shown
and load-tested without customer data.
"""
