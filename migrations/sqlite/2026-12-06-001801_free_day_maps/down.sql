DROP TABLE free_day_maps;
