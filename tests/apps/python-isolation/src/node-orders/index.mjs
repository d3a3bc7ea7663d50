// Logs an order with Powertools' structured logger; Powertools for AWS Lambda (TypeScript) comes from AWS's layer.
import { Logger } from "@aws-lambda-powertools/logger";

const logger = new Logger();

export const handler = async (event, context) => {
  logger.addContext(context);
  logger.info("order accepted", { orderId: event.order_id });
  return { order_id: event.order_id };
};
