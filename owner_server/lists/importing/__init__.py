"""Reading and normalising contact lists (CSV, XLSX) for import.

Pure: no database, no encryption, no printing. The pipeline is::

    source = read_records(path)                      # reading.py
    mapping = map_columns(source.header, overrides)  # mapping.py
    for row in normalise_records(source, mapping, region="PL"):  # normalise.py
        ...  # NormalisedRow or RejectedRow

Everything streams; memory does not grow with the number of rows.
"""

from owner_server.lists.importing.errors import ImportFileError
from owner_server.lists.importing.formulas import neutralise_formula
from owner_server.lists.importing.mapping import FIELDS, ColumnMapping, map_columns
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow, normalise_records
from owner_server.lists.importing.phones import PhoneOk, PhoneRejected, normalise_phone
from owner_server.lists.importing.reading import RecordSource, read_records

__all__ = [
    "FIELDS",
    "ColumnMapping",
    "ImportFileError",
    "NormalisedRow",
    "PhoneOk",
    "PhoneRejected",
    "RecordSource",
    "RejectedRow",
    "map_columns",
    "neutralise_formula",
    "normalise_phone",
    "normalise_records",
    "read_records",
]
