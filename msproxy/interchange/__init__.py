"""msproxy.interchange: packet captures (pcap, pcapng) to captures and back.

``import_pcaps`` reads TCP traffic from pcap/pcapng files, reassembles it, finds the
MSNP connections by content and writes them as a capture; ``export_capture`` writes a
capture as synthetic TCP/IP packets that Wireshark reads.
"""

from __future__ import annotations

from .exporter import ExportStats, export_capture
from .importer import ImportStats, import_pcaps

__all__ = ["ExportStats", "ImportStats", "export_capture", "import_pcaps"]
