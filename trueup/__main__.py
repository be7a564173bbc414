from trueup.cli import main

raise SystemExit(main())
