{
  "targets": [
    {
      "target_name": "fd_handoff",
      "sources": ["src/fd_handoff.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
