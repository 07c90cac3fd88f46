-- GET / on nginx, which serves the saved dashboard page.
dofile(os.getenv("LOAD_DIR") .. "/report.lua")
