"""Plans in and out of the gateway: importers from other tools' files and exporters to documents.

Pure functions, no database: an importer turns files into a `PlanDraft` plus the progress it carried and the
list of what it could not map; an exporter turns a stored version into Markdown, CSV or the gateway's own JSON.
The services (`services/interchange.py`) store and read; REST and the CLI call the services.
"""

from gateway.app.interchange.common import Imported, SourceFile, file_digest
from gateway.app.interchange.formats import FORMATS, parse

__all__ = ["FORMATS", "Imported", "SourceFile", "file_digest", "parse"]
