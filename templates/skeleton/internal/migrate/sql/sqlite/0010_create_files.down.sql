DROP TABLE file_shares;
DROP TABLE file_uploads;
DROP TABLE file_usage;
DROP TABLE files;
