from vsmanager.cli import main

raise SystemExit(main())
