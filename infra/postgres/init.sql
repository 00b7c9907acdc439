-- One PostgreSQL server, one database per component (the app's own is created by the image).
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
