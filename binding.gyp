{
  "targets": [
    {
      "target_name": "ebtop_bpf",
      "sources": ["native/ebtop_bpf.c"],
      "cflags": ["-O2", "-Wall", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "<!@(pkg-config --cflags libbpf)"],
      "libraries": ["<!@(pkg-config --libs libbpf)"]
    }
  ]
}
