"""Data builders: from a canonical dataset to the participants' download and the hidden reference."""
