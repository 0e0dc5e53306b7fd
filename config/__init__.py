"""Settings and the shipped data files (knowledge base, texts, topics, regions, demo data)."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
