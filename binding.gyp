{
  "targets": [
    {
      "target_name": "evspike_kernel",
      "sources": ["src/neurons/kernels/integrate.c"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math", "-fno-strict-aliasing", "-Wno-psabi"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math", "-fno-strict-aliasing", "-Wno-psabi"]
      }
    }
  ]
}
