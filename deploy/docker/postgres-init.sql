-- The tracker store's database beside the mall's (POSTGRES_DB creates `mall`).
CREATE DATABASE rasa OWNER assistant;
