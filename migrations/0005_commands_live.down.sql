DROP TABLE IF EXISTS connector_status;
DROP TABLE IF EXISTS commands;
