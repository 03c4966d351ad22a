"""The `edgec` commands, one module each: its click command, its printer, and a call to one library function that returns a JSON-ready record (what --json prints)."""
