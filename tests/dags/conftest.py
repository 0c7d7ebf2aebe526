"""DAG tests use the throwaway Airflow home set up in tests/conftest.py (pytest_configure, `airflow_db`)."""
