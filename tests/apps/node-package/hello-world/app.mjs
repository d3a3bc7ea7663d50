import dayjs from 'dayjs';

/**
 * Adds a year to a leap day with dayjs (a package.json dependency).
 */
export const lambdaHandler = async (event, context) => {
  const leapDay = dayjs('2024-02-29');
  return {
    statusCode: 200,
    body: JSON.stringify({
      message: 'hello world',
      nextYear: leapDay.add(1, 'year').format('YYYY-MM-DD'),
      isDayjs: dayjs.isDayjs(leapDay),
    }),
  };
};
