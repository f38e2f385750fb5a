print("pdx-verify: not yet implemented")
