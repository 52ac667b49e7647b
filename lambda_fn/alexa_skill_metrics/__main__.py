"""``python -m alexa_skill_metrics`` is ``skill-metrics``, wherever the scripts folder is not on PATH."""

from alexa_skill_metrics.cli import main

if __name__ == "__main__":
    main()
